FROM debian:12-slim
# ruleid: dockerfile.curl-pipe-shell
RUN apt-get update && curl -fsSL https://get.example.com/install.sh | sh
# ruleid: dockerfile.curl-pipe-shell
RUN wget -qO- https://get.example.com/install.sh | sudo bash -
# ok: dockerfile.curl-pipe-shell
RUN curl -fsSL -o /tmp/install.sh https://get.example.com/install.sh && echo "abc123  /tmp/install.sh" | sha256sum -c - && sh /tmp/install.sh
# ok: dockerfile.curl-pipe-shell
RUN curl -fsSL https://api.example.com/v.json | jq -r .version
