const crypto = require("crypto");

function enc(key, iv, data) {
  // ruleid: javascript.weak-cipher
  const a = crypto.createCipheriv("des-ede3-cbc", key, iv);
  // ruleid: javascript.weak-cipher
  const b = crypto.createCipheriv("aes-128-ecb", key, null);
  // ruleid: javascript.weak-cipher
  const c = crypto.createCipher("aes-256-cbc", key);
  // ok: javascript.weak-cipher
  const d = crypto.createCipheriv("aes-256-gcm", key, iv);
  // ok: javascript.weak-cipher
  const e = crypto.createCipheriv("chacha20-poly1305", key, iv, { authTagLength: 16 });
  return [a, b, c, d, e];
}
