# syntax=docker/dockerfile:1

# Build: the whole dependency tree compiles src/ to dist/src/, then the dev and optional
# dependencies are pruned so the runtime stage copies what `serve` needs and nothing else. The
# simulators (sim/), which only `ecr-warden demo` uses, are not in the build context, so the image
# holds no simulator, test, benchmark or source map; selfsigned, the demo's certificate maker, is
# the package's one optional dependency and is pruned with them.
FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --omit=optional --no-audit --no-fund

# Runtime: Node.js 24 LTS with the compiled program and its production dependencies.
FROM node:24.21.0-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
# Package managers are build tools; the running controller never installs anything.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
# Files stay owned by root: the controller's user can read them, not change them.
# package.json comes along for "type": "module", which makes Node load dist/**/*.js as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The base image's unprivileged "node" user, by number so that Kubernetes' runAsNonRoot can
# verify it without reading /etc/passwd.
USER 1000:1000
# 9090: metrics and health (HTTP); 8443: admission webhook (HTTPS). Both are configurable.
EXPOSE 9090 8443
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve", "--config", "/etc/ecr-warden/config.yaml"]
