function run(req) {
  // ruleid: javascript.eval-dynamic
  const r = eval(req.query.expr);
  // ruleid: javascript.eval-dynamic
  const f = new Function("a", "return a + " + req.body.code);
  // ruleid: javascript.eval-dynamic
  setTimeout("update('" + req.query.id + "')", 100);
  // ok: javascript.eval-dynamic
  const v = JSON.parse(req.body.data);
  // ok: javascript.eval-dynamic
  setTimeout(() => update(req.query.id), 100);
  // ok: javascript.eval-dynamic
  const k = eval("2 + 2");
  return [r, f, v, k];
}
