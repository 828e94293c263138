import * as jwt from "jsonwebtoken";

function check(token: string, key: string): unknown {
  // ruleid: typescript.jwt-weak-verification
  const a = jwt.verify(token, key, { algorithms: ["HS256", "none"] });
  // ruleid: typescript.jwt-weak-verification
  const b: string = jwt.sign({ sub: "1" }, key, { algorithm: "none" });
  // ok: typescript.jwt-weak-verification
  const c = jwt.verify(token, key, { algorithms: ["RS256"] });
  // ok: typescript.jwt-weak-verification
  const d: string = jwt.sign({ sub: "1" }, key, { algorithm: "HS512" });
  return [a, b, c, d];
}
