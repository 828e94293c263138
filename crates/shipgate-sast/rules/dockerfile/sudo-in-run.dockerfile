FROM debian:12-slim
# ruleid: dockerfile.sudo-in-run
RUN sudo apt-get install -y curl
# ruleid: dockerfile.sudo-in-run
RUN apt-get update && sudo apt-get install -y git
# ok: dockerfile.sudo-in-run
RUN apt-get update && apt-get install -y --no-install-recommends curl
# ok: dockerfile.sudo-in-run
RUN echo "pseudo" > /tmp/x
