package main

import (
	"html/template"
	"net/http"
)

func page(r *http.Request) map[string]interface{} {
	name := r.FormValue("name")
	return map[string]interface{}{
		// ruleid: go.template-unescaped-content
		"Greeting": template.HTML("<b>" + name + "</b>"),
		// ruleid: go.template-unescaped-content
		"Script": template.JS(r.FormValue("cb")),
		// ok: go.template-unescaped-content
		"Static": template.HTML("<hr>"),
		// ok: go.template-unescaped-content
		"Name": template.HTMLEscapeString(name),
	}
}
