const jwt = require("jsonwebtoken");

function issue(user, token) {
  // ruleid: javascript.jwt-hardcoded-secret
  const t = jwt.sign({ sub: user.id }, "my-super-secret", { expiresIn: "1h" });
  // ruleid: javascript.jwt-hardcoded-secret
  const claims = jwt.verify(token, 'changeme');
  // ok: javascript.jwt-hardcoded-secret
  const t2 = jwt.sign({ sub: user.id }, process.env.JWT_SECRET, { expiresIn: "1h" });
  // ok: javascript.jwt-hardcoded-secret
  const c2 = jwt.verify(token, config.jwtKey);
  return [t, claims, t2, c2];
}
