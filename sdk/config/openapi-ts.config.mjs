// @hey-api/openapi-ts settings for sdk/typescript (see sdk/generate): the
// fetch client, types and one function per operation, into src/generated.
export default {
  input: process.env.STRATUS_SPEC,
  output: { path: process.env.STRATUS_TS_OUT },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
};
