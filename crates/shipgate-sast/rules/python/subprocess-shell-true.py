import subprocess


def run(user_dir, cmd):
    # ruleid: python.subprocess-shell-true
    subprocess.run("ls -la " + user_dir, shell=True)
    # ruleid: python.subprocess-shell-true
    subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE)
    # ruleid: python.subprocess-shell-true
    check_output(f"du -sh {user_dir}", shell=True)
    # ok: python.subprocess-shell-true
    subprocess.run(["ls", "-la", user_dir], shell=False)
    # ok: python.subprocess-shell-true
    subprocess.check_output(["du", "-sh", user_dir])
