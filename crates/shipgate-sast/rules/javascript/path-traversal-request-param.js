const fs = require("fs");
const path = require("path");

function download(req, res) {
  // ruleid: javascript.path-traversal-request-param
  res.sendFile(path.join(__dirname, "files", req.query.name));
  // ruleid: javascript.path-traversal-request-param
  const data = fs.readFileSync("/srv/uploads/" + req.params.file);
  // ruleid: javascript.path-traversal-request-param
  fs.createReadStream(req.query.path).pipe(res);
  // ok: javascript.path-traversal-request-param
  res.sendFile(path.join(__dirname, "public", "index.html"));
  // ok: javascript.path-traversal-request-param
  res.sendFile(path.basename(req.query.name), { root: "/srv/files" });
  return data;
}
