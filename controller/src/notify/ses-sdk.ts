// What the SES transport uses of the SES SDK, as an ES module of its own: loaded with import() on
// the first e-mail (transports.ts), it keeps its named exports in the bundle too, where a
// CommonJS package imported that way would only give a default.
export { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
