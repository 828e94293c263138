const serialize = require("node-serialize");

function restore(req) {
  // ruleid: javascript.node-serialize-unserialize
  const obj = serialize.unserialize(req.cookies.profile);
  // ruleid: javascript.node-serialize-unserialize
  const obj2 = require("node-serialize").unserialize(req.body.data);
  // ok: javascript.node-serialize-unserialize
  const obj3 = JSON.parse(req.cookies.profile);
  // ok: javascript.node-serialize-unserialize
  const s = serialize.serialize(obj3);
  return [obj, obj2, s];
}
