FROM debian:12-slim
# ruleid: dockerfile.insecure-download-flags
RUN curl -k -o /tmp/tool.tgz https://dl.example.com/tool.tgz
# ruleid: dockerfile.insecure-download-flags
RUN apt-get update && wget --no-check-certificate https://dl.example.com/tool.tgz
# ok: dockerfile.insecure-download-flags
RUN curl -fsSL -o /tmp/tool.tgz https://dl.example.com/tool.tgz
# ok: dockerfile.insecure-download-flags
RUN wget -q https://dl.example.com/tool.tgz
