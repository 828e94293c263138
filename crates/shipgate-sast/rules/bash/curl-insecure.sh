#!/bin/bash
set -euo pipefail

# ruleid: bash.curl-insecure
curl -s -k https://internal.example.com/api/health
# ruleid: bash.curl-insecure
curl --insecure -o pkg.tgz "https://dl.example.com/pkg.tgz"
# ruleid: bash.curl-insecure
wget --no-check-certificate https://dl.example.com/pkg.tgz
# ok: bash.curl-insecure
curl -fsSL --cacert /etc/ssl/corp.pem https://internal.example.com/api/health
# ok: bash.curl-insecure
wget -q https://dl.example.com/pkg.tgz
