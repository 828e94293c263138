#!/bin/bash

# ruleid: bash.chmod-world-writable
chmod 777 /var/www/uploads
# ruleid: bash.chmod-world-writable
chmod -R o+w /opt/app
# ok: bash.chmod-world-writable
chmod 755 /opt/app/bin/run
# ok: bash.chmod-world-writable
chmod -R g+w /opt/app/shared
