const crypto = require("crypto");

function make() {
  // ruleid: javascript.insecure-random-token
  const resetToken = Math.random().toString(36).substring(2);
  // ruleid: javascript.insecure-random-token
  let sessionId = Math.floor(Math.random() * 1000000);
  // ok: javascript.insecure-random-token
  const csrfToken = crypto.randomBytes(32).toString("hex");
  // ok: javascript.insecure-random-token
  const jitter = Math.random() * 100;
  return [resetToken, sessionId, csrfToken, jitter];
}
