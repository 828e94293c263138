function banner(name) {
  // ruleid: javascript.document-write
  document.write("<h1>Hello " + name + "</h1>");
  // ruleid: javascript.document-write
  document.writeln(location.hash);
  // ok: javascript.document-write
  document.write("<hr>");
  // ok: javascript.document-write
  document.title = name;
}
