package soak

import (
	"bytes"
	"errors"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// form is the first POST form of an HTML page, as a browser would submit it.
type form struct {
	Action string
	Fields url.Values // hidden and prefilled inputs
}

// parseForm reads the first <form method="post"> of a page with an HTML parser (not patterns),
// so a restyled page keeps working as long as a browser could still submit it.
func parseForm(page []byte) (*form, error) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var f *form
	for {
		switch z.Next() {
		case html.ErrorToken:
			if f == nil {
				return nil, errors.New("no POST form on the page")
			}
			return f, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			attr := func(name string) string {
				for _, a := range t.Attr {
					if a.Key == name {
						return a.Val
					}
				}
				return ""
			}
			switch t.Data {
			case "form":
				if f == nil && strings.EqualFold(attr("method"), "post") {
					f = &form{Action: attr("action"), Fields: url.Values{}}
				}
			case "input":
				if f != nil && attr("name") != "" && attr("type") != "submit" {
					f.Fields.Set(attr("name"), attr("value"))
				}
			}
		case html.EndTagToken:
			if f != nil && z.Token().Data == "form" {
				return f, nil
			}
		}
	}
}
