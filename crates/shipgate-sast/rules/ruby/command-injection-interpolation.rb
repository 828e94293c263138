require "open3"

def archive(dir, name)
  # ruleid: ruby.command-injection-interpolation
  system("tar czf /tmp/#{name}.tgz #{dir}")
  # ruleid: ruby.command-injection-interpolation
  out, _status = Open3.capture2("du -sh " + dir)
  # ok: ruby.command-injection-interpolation
  system("tar", "czf", "/tmp/out.tgz", dir)
  # ok: ruby.command-injection-interpolation
  system("sync")
  out
end
