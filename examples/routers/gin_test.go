package routers

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/stepuptest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug banner
	os.Exit(m.Run())
}

// TestGinGuard: the adapter stops the chain on a refusal (no later handler
// runs), runs it once on an allowance with the handler's status seen by the
// guard (its log line), and leaves gin's writer in place afterwards.
func TestGinGuard(t *testing.T) {
	e := newEnv(t)
	var after []string
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		after = append(after, c.Request.URL.Path)
		if _, wrapped := c.Writer.(ginWriter); wrapped {
			t.Error("after the guard, c.Writer is still the adapter's")
		}
	})
	protect := func(next http.Handler) http.Handler {
		return httpmw.Named("PUT /limits/:id", e.guard.Require(transferRule, next))
	}
	var ran int
	r.PUT("/limits/:id", ginGuard(protect), func(c *gin.Context) {
		ran++
		c.Status(http.StatusAccepted)
	}, func(c *gin.Context) {
		ran++
	})
	password := e.mint(t, stepuptest.Token{ACR: "urn:example:pwd", AuthTime: time.Now()})
	mfa := e.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: time.Now()})

	for _, tt := range []struct {
		token  string
		status int
		ran    int
		log    string
	}{
		{password, 401, 0, `msg="httpmw: request refused" method=PUT route="PUT /limits/:id" status=401`},
		{mfa, 202, 2, `msg="httpmw: request allowed" method=PUT route="PUT /limits/:id" status=202`},
	} {
		ran = 0
		e.logs.Reset()
		req := httptest.NewRequest(http.MethodPut, "/limits/9", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != tt.status || ran != tt.ran {
			t.Errorf("got %d with %d handlers run, want %d with %d", rec.Code, ran, tt.status, tt.ran)
		}
		if !strings.Contains(e.logs.String(), tt.log) {
			t.Errorf("log:\n%s\nwant a line with %s", e.logs.String(), tt.log)
		}
	}
	if len(after) != 2 {
		t.Errorf("outer middleware ran after %d requests, want 2", len(after))
	}
}
