const https = require("https");

// ruleid: javascript.tls-reject-unauthorized-false
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
const opts = { host: "api.example.com" };
// ruleid: javascript.tls-reject-unauthorized-false
opts.rejectUnauthorized = false;
// ok: javascript.tls-reject-unauthorized-false
const safe = new https.Agent({ keepAlive: true, rejectUnauthorized: true });
// ok: javascript.tls-reject-unauthorized-false
const withCa = new https.Agent({ ca: process.env.CA_PEM });
