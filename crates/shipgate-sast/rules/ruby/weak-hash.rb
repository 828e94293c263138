require "digest"

def digest(password, data)
  # ruleid: ruby.weak-hash
  a = Digest::MD5.hexdigest(password)
  # ruleid: ruby.weak-hash
  b = OpenSSL::Digest.new("SHA1", data)
  # ok: ruby.weak-hash
  c = Digest::SHA256.hexdigest(data)
  # ok: ruby.weak-hash
  d = OpenSSL::Digest.new("SHA256", data)
  [a, b, c, d]
end
