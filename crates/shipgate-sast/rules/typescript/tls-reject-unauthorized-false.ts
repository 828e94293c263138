import * as https from "https";

// ruleid: typescript.tls-reject-unauthorized-false
const agent: https.Agent = new https.Agent({ rejectUnauthorized: false });
// ruleid: typescript.tls-reject-unauthorized-false
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
// ok: typescript.tls-reject-unauthorized-false
const safe: https.Agent = new https.Agent({ rejectUnauthorized: true });
// ok: typescript.tls-reject-unauthorized-false
const plain: https.Agent = new https.Agent({ keepAlive: true });
