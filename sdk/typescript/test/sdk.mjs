// The compiled SDK under test: $STRATUS_SDK_DIST (services/stratus/tests/
// sdk_typescript.rs compiles it under the CI target directory), else the
// package's own build (`npm run build`).
import { pathToFileURL } from 'node:url';

const dist = process.env.STRATUS_SDK_DIST;
export const sdk = await import(dist ? pathToFileURL(`${dist}/index.js`).href : '../dist/index.js');
