function show(el: HTMLElement, msg: string): void {
  // ruleid: typescript.innerhtml-assignment
  el.innerHTML = msg;
  // ruleid: typescript.innerhtml-assignment
  el.outerHTML = `<p>${msg}</p>`;
  // ok: typescript.innerhtml-assignment
  el.textContent = msg;
  // ok: typescript.innerhtml-assignment
  el.innerHTML = "";
}
