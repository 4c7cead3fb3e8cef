/**
 * How the container image runs the controller, for the benchmarks and tests that run it the same way
 * (test/dockerfile.test.ts keeps these equal to the Dockerfile).
 */

/**
 * The environment the container image gives the controller (its Dockerfile's ENV, which a test
 * keeps equal to this): memory is measured as it is in a pod. The peer runs with it too.
 */
export const IMAGE_ENV: Record<string, string> = { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' };

/** The node flags the container image's ENTRYPOINT runs the controller with (a test keeps them equal). */
export const IMAGE_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];
