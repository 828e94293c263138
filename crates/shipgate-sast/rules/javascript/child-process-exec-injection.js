const cp = require("child_process");
const { exec } = require("child_process");

function archive(dir, name) {
  // ruleid: javascript.child-process-exec-injection
  cp.exec(`tar czf /tmp/${name}.tgz ${dir}`, (err) => {});
  // ruleid: javascript.child-process-exec-injection
  const out = cp.execSync("du -sh " + dir);
  // ruleid: javascript.child-process-exec-injection
  exec("rm -rf " + dir);
  // ok: javascript.child-process-exec-injection
  cp.execFile("tar", ["czf", "/tmp/" + name + ".tgz", dir]);
  // ok: javascript.child-process-exec-injection
  cp.exec("git rev-parse HEAD");
  return out;
}
