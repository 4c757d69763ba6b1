// What Sluice uses of the S3 SDK, as an ES module of its own: loaded with import() on first use
// (client.ts, loadS3), it keeps its named exports in the bundle too, where a CommonJS package
// imported that way would only give a default.
export { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
