#!/bin/bash

# ruleid: bash.hardcoded-secret-assignment
DB_PASSWORD=hunter2hunter2
# ruleid: bash.hardcoded-secret-assignment
export API_TOKEN="ghp_abcdef123456"
# ok: bash.hardcoded-secret-assignment
DB_PASSWORD="$1"
# ok: bash.hardcoded-secret-assignment
API_TOKEN="${API_TOKEN:-}"
# ok: bash.hardcoded-secret-assignment
DB_HOST=db.internal
