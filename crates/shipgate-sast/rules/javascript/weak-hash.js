const crypto = require("crypto");

function digest(pw) {
  // ruleid: javascript.weak-hash
  const a = crypto.createHash("md5").update(pw).digest("hex");
  // ruleid: javascript.weak-hash
  const b = crypto.createHash('sha1').update(pw).digest("hex");
  // ok: javascript.weak-hash
  const c = crypto.createHash("sha256").update(pw).digest("hex");
  // ok: javascript.weak-hash
  const d = crypto.scryptSync(pw, "salt", 64);
  return [a, b, c, d];
}
