package fence_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tenure-dev/tenure/node/fence"
)

func Example() {
	g := fence.New()
	var table []string // the resource: written only inside Do

	write := func(token uint64, row string) {
		err := g.Do("orders", token, func() error {
			table = append(table, row)
			return nil
		})
		var stale *fence.StaleError
		switch {
		case errors.As(err, &stale):
			fmt.Printf("refused %q: token %d < %d\n", row, stale.Token, stale.Highest)
		case err != nil:
			fmt.Println("error:", err)
		}
	}

	write(7, "a") // tenure 7
	write(7, "b") // tenure 7 again, after a renewal
	write(9, "c") // a later tenure
	write(7, "d") // tenure 7's delayed write arrives: refused
	fmt.Println(table)
	// Output:
	// refused "d": token 7 < 9
	// [a b c]
}

func ExampleGuard_Middleware() {
	g := fence.New()
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "written")
	}))
	send := func(token string) {
		req := httptest.NewRequest(http.MethodPut, "/orders/1", nil)
		req.Header.Set(fence.NameHeader, "orders")
		req.Header.Set(fence.TokenHeader, token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	send("9")
	send("7")
	send("x")
	// Output:
	// 200 written
	// 409 {"error":"stale token","highest":"9","name":"orders","token":"7"}
	// 400 {"error":"Fencing-Token header \"x\" is not a decimal uint64"}
}
