// What the SMTP transport uses of nodemailer, as an ES module of its own: loaded with import() on
// the first e-mail (transports.ts), it keeps its named exports in the bundle too, where a
// CommonJS package imported that way would only give a default.
export { createTransport } from 'nodemailer';
