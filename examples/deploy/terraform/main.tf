# lambda-telemetry-otel with Terraform (hashicorp/aws): both layers published
# from this project's dist/ (run `npm run build` first), a Python function on
# the standalone layer and a Node.js function on the Node layer.
#   terraform init && terraform apply -var collector_url=https://otlp.example.com:4318
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
  }
}

variable "collector_url" {
  type        = string
  description = "Your OTLP/HTTP receiver (the extension posts to /v1/logs, /v1/traces and /v1/metrics under it)"
}

locals {
  dist = "${path.module}/../../../dist"
}

# For nodejs22.x / nodejs24.x only: runs on the function's own Node.
resource "aws_lambda_layer_version" "telemetry_node" {
  layer_name               = "lambda-telemetry-otel"
  filename                 = "${local.dist}/lambda-telemetry-otel-layer.zip"
  source_code_hash         = filebase64sha256("${local.dist}/lambda-telemetry-otel-layer.zip")
  compatible_runtimes      = ["nodejs22.x", "nodejs24.x"]
  compatible_architectures = ["x86_64", "arm64"]
}

# Any Amazon Linux 2023 runtime: carries its own Node, one per architecture
# (lambda-telemetry-otel-standalone-arm64.zip for arm64 functions).
resource "aws_lambda_layer_version" "telemetry_standalone_x86_64" {
  layer_name               = "lambda-telemetry-otel-standalone-x86_64"
  filename                 = "${local.dist}/lambda-telemetry-otel-standalone-x86_64.zip"
  source_code_hash         = filebase64sha256("${local.dist}/lambda-telemetry-otel-standalone-x86_64.zip")
  compatible_runtimes      = ["python3.12", "python3.13", "java21", "dotnet8", "ruby3.3", "ruby3.4", "provided.al2023", "nodejs22.x", "nodejs24.x"]
  compatible_architectures = ["x86_64"]
}

resource "aws_iam_role" "function" {
  name = "lambda-telemetry-otel-example"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "archive_file" "python" {
  type        = "zip"
  output_path = "${path.module}/python-function.zip"
  source {
    filename = "index.py"
    content  = "def handler(event, context):\n    print(\"hello from Python\")\n    return {\"ok\": True}\n"
  }
}

resource "aws_lambda_function" "python" {
  function_name    = "python-with-telemetry"
  role             = aws_iam_role.function.arn
  runtime          = "python3.12"
  architectures    = ["x86_64"]
  handler          = "index.handler"
  filename         = data.archive_file.python.output_path
  source_code_hash = data.archive_file.python.output_base64sha256
  layers           = [aws_lambda_layer_version.telemetry_standalone_x86_64.arn]
  environment {
    variables = {
      DISPATCH_POST_URI = var.collector_url
    }
  }
}

data "archive_file" "node" {
  type        = "zip"
  output_path = "${path.module}/node-function.zip"
  source {
    filename = "index.js"
    content  = "exports.handler = async () => { console.log('hello from Node.js'); return { ok: true }; };\n"
  }
}

resource "aws_lambda_function" "node" {
  function_name    = "node-with-telemetry"
  role             = aws_iam_role.function.arn
  runtime          = "nodejs22.x"
  architectures    = ["arm64"]
  handler          = "index.handler"
  filename         = data.archive_file.node.output_path
  source_code_hash = data.archive_file.node.output_base64sha256
  layers           = [aws_lambda_layer_version.telemetry_node.arn]
  environment {
    variables = {
      DISPATCH_POST_URI = var.collector_url
    }
  }
}
