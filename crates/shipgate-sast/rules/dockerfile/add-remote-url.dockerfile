FROM debian:12-slim
# ruleid: dockerfile.add-remote-url
ADD https://dl.example.com/tool.tar.gz /opt/
# ruleid: dockerfile.add-remote-url
ADD http://dl.example.com/config.json /etc/app/config.json
# ok: dockerfile.add-remote-url
ADD ./vendor.tar.gz /opt/
# ok: dockerfile.add-remote-url
COPY ./app /opt/app
