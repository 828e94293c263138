#!/bin/bash
set -euo pipefail

# ruleid: bash.curl-pipe-shell
curl -fsSL https://get.example.com/install.sh | bash
# ruleid: bash.curl-pipe-shell
wget -qO- https://get.example.com/install.sh | sudo sh
# ruleid: bash.curl-pipe-shell
curl -sSf https://sh.example.com | sh -s -- -y
# ok: bash.curl-pipe-shell
curl -fsSL -o install.sh https://get.example.com/install.sh
# ok: bash.curl-pipe-shell
curl -fsSL https://api.example.com/data.json | jq .items
