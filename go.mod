module github.com/havenhealth/haven

go 1.26.8
