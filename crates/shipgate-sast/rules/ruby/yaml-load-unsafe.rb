require "yaml"

def parse(text, path)
  # ruleid: ruby.yaml-load-unsafe
  a = YAML.load(text)
  # ruleid: ruby.yaml-load-unsafe
  b = YAML.unsafe_load(text)
  # ok: ruby.yaml-load-unsafe
  c = YAML.safe_load(text, permitted_classes: [Date])
  # ok: ruby.yaml-load-unsafe
  d = YAML.safe_load_file(path)
  [a, b, c, d]
end
