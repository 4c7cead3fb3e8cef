/** The version reported by --version and ecr_warden_build_info; kept equal to package.json's by a test. */
export const VERSION = '0.1.0';
