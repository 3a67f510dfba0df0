package regclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// standIn is a registry that knows one schema, id 1, under "greetings-value".
func standIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/subjects/greetings-value/versions":
			io.WriteString(w, `{"id":1}`)
		case r.Method == "GET" && r.URL.Path == "/schemas/ids/1":
			io.WriteString(w, `{"schema":"\"string\""}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error_code":40401,"message":"Subject not found."}`)
		}
	}))
}

func Example() {
	srv := standIn()
	defer srv.Close()
	ctx := context.Background()

	c, err := regclient.New(regclient.Config{URLs: []string{srv.URL}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	id, err := c.Register(ctx, "greetings-value", regclient.Schema{Schema: `"string"`})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.AvroSchemaByID(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id, s.Type())
	// Output: 1 string
}

func ExampleError() {
	srv := standIn()
	defer srv.Close()

	c, err := regclient.New(regclient.Config{URLs: []string{srv.URL}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.Version(context.Background(), "nobody-value", regclient.Latest)
	var e *regclient.Error
	fmt.Println(errors.Is(err, regclient.ErrSubjectNotFound), errors.As(err, &e) && e.Status == 404)
	// Output: true true
}
