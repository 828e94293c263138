FROM debian:12-slim
# ruleid: dockerfile.user-root
USER root
RUN apt-get update
# ruleid: dockerfile.user-root
USER 0
# ok: dockerfile.user-root
USER app
# ok: dockerfile.user-root
USER 10001:10001
