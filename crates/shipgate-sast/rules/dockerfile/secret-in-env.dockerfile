FROM debian:12-slim
# ruleid: dockerfile.secret-in-env
ENV DB_PASSWORD=hunter2
# ruleid: dockerfile.secret-in-env
ENV API_TOKEN ghp_abcdef123456
# ok: dockerfile.secret-in-env
ENV APP_ENV=production
# ok: dockerfile.secret-in-env
ENV DB_PASSWORD=$DB_PASSWORD_FROM_ARG
