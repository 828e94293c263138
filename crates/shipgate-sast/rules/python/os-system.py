import os


def backup(name):
    # ruleid: python.os-system
    os.system("tar czf /tmp/backup.tgz " + name)
    # ruleid: python.os-system
    out = os.popen(f"cat {name}").read()
    # ok: python.os-system
    os.system("sync")
    # ok: python.os-system
    os.popen("uptime").read()
    return out
