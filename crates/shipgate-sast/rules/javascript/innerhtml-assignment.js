function show(el, msg) {
  // ruleid: javascript.innerhtml-assignment
  el.innerHTML = msg;
  // ruleid: javascript.innerhtml-assignment
  document.getElementById("out").innerHTML += "<b>" + msg + "</b>";
  // ok: javascript.innerhtml-assignment
  el.textContent = msg;
  // ok: javascript.innerhtml-assignment
  el.innerHTML = "<b>loading</b>";
}
