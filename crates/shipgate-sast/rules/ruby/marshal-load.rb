require "json"

def restore(blob)
  # ruleid: ruby.marshal-load
  obj = Marshal.load(blob)
  # ruleid: ruby.marshal-load
  other = Marshal.restore(Base64.decode64(blob))
  # ok: ruby.marshal-load
  data = JSON.parse(blob)
  # ok: ruby.marshal-load
  dumped = Marshal.dump(data)
  [obj, other, dumped]
end
