package promquery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQuery(t *testing.T) {
	var gotTime, gotQuery, gotOrg string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotTime, gotQuery, gotOrg = r.Form.Get("time"), r.Form.Get("query"), r.Header.Get("X-Scope-OrgID")
		switch {
		case r.URL.Path != "/prom/api/v1/query":
			http.NotFound(w, r)
		case gotQuery == "bad(":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
		case strings.HasSuffix(gotQuery, "[1h]"):
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"e","uid":"u"},"values":[[1796119000.5,"1"],[1796119100.183,"3"]]}]}}`))
		default:
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1796119140.677,"1"]}]}}`))
		}
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL + "/prom/", Header: http.Header{"X-Scope-OrgID": {"team-a"}}}
	ctx := context.Background()

	ss, err := c.Query(ctx, "up", time.Unix(1796119140, 677_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if gotTime != "1796119140.677" || gotOrg != "team-a" {
		t.Errorf("sent time=%q X-Scope-OrgID=%q", gotTime, gotOrg)
	}
	if len(ss) != 1 || ss[0].Labels.Get("job") != "a" || ss[0].T != 1796119140677 || ss[0].V != 1 {
		t.Errorf("vector: %+v", ss)
	}
	ss, err = c.Query(ctx, "e[1h]", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if gotTime != "" || len(ss) != 1 || ss[0].T != 1796119100183 || ss[0].V != 3 {
		t.Errorf("matrix: last sample with its own timestamp wanted, got %+v (time=%q)", ss, gotTime)
	}
	if _, err := c.Query(ctx, "bad(", time.Time{}); err == nil || !strings.Contains(err.Error(), "bad_data: parse error") {
		t.Errorf("error answer: %v", err)
	}
	if _, err := (&Client{URL: srv.URL + "/nope"}).Query(ctx, "up", time.Time{}); err == nil {
		t.Error("a 404 without a JSON body was accepted")
	}
}
