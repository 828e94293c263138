const axios = require("axios");

async function proxy(req, res) {
  // ruleid: javascript.ssrf-request-param-url
  const r1 = await axios.get(req.query.url);
  // ruleid: javascript.ssrf-request-param-url
  const r2 = await fetch(req.body["target"], { method: "POST" });
  // ok: javascript.ssrf-request-param-url
  const r3 = await axios.get("https://api.example.com/items", { params: { q: req.query.q } });
  // ok: javascript.ssrf-request-param-url
  const r4 = await fetch(ALLOWED_HOSTS[req.query.svc]);
  res.json([r1, r2, r3, r4]);
}
