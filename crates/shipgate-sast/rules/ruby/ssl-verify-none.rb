require "net/http"

def fetch(uri)
  http = Net::HTTP.new(uri.host, uri.port)
  http.use_ssl = true
  # ruleid: ruby.ssl-verify-none
  http.verify_mode = OpenSSL::SSL::VERIFY_NONE
  # ruleid: ruby.ssl-verify-none
  conn = Faraday.new(url: uri.to_s, ssl: { verify_mode: OpenSSL::SSL::VERIFY_NONE })
  # ok: ruby.ssl-verify-none
  http.verify_mode = OpenSSL::SSL::VERIFY_PEER
  # ok: ruby.ssl-verify-none
  http.ca_file = "/etc/ssl/certs/ca.pem"
  [http, conn]
end
