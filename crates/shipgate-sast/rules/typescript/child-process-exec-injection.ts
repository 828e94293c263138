const cp = require("child_process");

function archive(dir: string, name: string): void {
  // ruleid: typescript.child-process-exec-injection
  cp.exec(`tar czf /tmp/${name}.tgz ${dir}`, (err: Error | null) => {});
  // ruleid: typescript.child-process-exec-injection
  const out: Buffer = cp.execSync("du -sh " + dir);
  // ok: typescript.child-process-exec-injection
  cp.execFile("tar", ["czf", "/tmp/" + name + ".tgz", dir]);
  // ok: typescript.child-process-exec-injection
  cp.exec("git rev-parse HEAD");
  // ok: typescript.child-process-exec-injection
  const re: RegExp = /x/;
  re.exec(dir);
}
