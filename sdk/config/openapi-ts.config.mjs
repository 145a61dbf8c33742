// @hey-api/openapi-ts settings for sdk/typescript (see sdk/generate): the
// fetch client, types and one function per operation, into src/generated.
export default {
  input: process.env.STRATUS_SPEC,
  // Node's ESM resolution needs the extension in relative imports.
  output: { path: process.env.STRATUS_TS_OUT, importFileExtension: '.js' },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
};
