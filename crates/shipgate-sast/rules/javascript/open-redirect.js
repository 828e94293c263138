function login(req, res) {
  // ruleid: javascript.open-redirect
  res.redirect(req.query.next);
  // ruleid: javascript.open-redirect
  res.redirect(302, req.body.returnTo);
  // ok: javascript.open-redirect
  res.redirect("/dashboard");
  // ok: javascript.open-redirect
  res.redirect(safeReturn(req.query.next));
}
