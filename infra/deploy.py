"""Package and deploy Aftercare to AWS: the templates, the Lambda package and the site.

    python infra/deploy.py package
    python infra/deploy.py deploy --stage prod --backup-region eu-central-1

`package` needs no network once the Lambda wheels are cached (`make package`
downloads them once into .cache/lambda-wheels). `deploy` talks to AWS through
boto3 with the caller's credentials; AWS_ENDPOINT_URL points it elsewhere (the
tests use moto's server).
"""

from __future__ import annotations

import argparse
import base64
import compileall
import hashlib
import json
import mimetypes
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError, WaiterError

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
BACKEND = ROOT / "backend"
SITE_DIR = ROOT / "build" / "site"
PACKAGE_DIR = ROOT / "build" / "infra"
LAMBDA_WHEELS = ROOT / ".cache" / "lambda-wheels"

MAIN_TEMPLATE = "template.yaml"
# Merged into resources.yaml before packaging (Chalice takes one --merge-template).
MERGED_TEMPLATES = ("attachments.yaml", "console.yaml", "inbound.yaml")
LAMBDA_ZIP = "deployment.zip"
# CloudFront's WAF can only be created in us-east-1.
EDGE_REGION = "us-east-1"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_NON_JS_TYPE = re.compile(r"""\btype\s*=\s*["']?(?!text/javascript|module)[^"'\s>]+""", re.I)


# -- Package ---------------------------------------------------------------------


def inline_script_hashes(site_dir: Path) -> list[str]:
    """CSP source expressions ('sha256-...') for every inline script the built site runs."""
    hashes: set[str] = set()
    for page in sorted(site_dir.rglob("*.html")):
        for script in _INLINE_SCRIPT.finditer(page.read_text(encoding="utf-8")):
            attrs = script.group("attrs")
            if re.search(r"\bsrc\s*=", attrs, re.I) or _NON_JS_TYPE.search(attrs):
                continue
            digest = hashlib.sha256(script.group("body").encode("utf-8")).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return sorted(hashes)


def with_script_hashes(csp: str, hashes: list[str]) -> str:
    """The policy with the hashes added to its script-src directive."""
    directives = [d.strip() for d in csp.split(";") if d.strip()]
    for i, directive in enumerate(directives):
        if directive.split()[0] == "script-src":
            directives[i] = " ".join([directive, *hashes])
            break
    else:
        raise ValueError("the Content-Security-Policy has no script-src directive")
    return "; ".join(directives)


def _lambda_build_env() -> dict[str, str]:
    env = dict(os.environ)
    # Only the wheels cached ahead of time: packaging never reaches an index.
    env["PIP_NO_INDEX"] = "1"
    env["PIP_FIND_LINKS"] = str(LAMBDA_WHEELS)
    # Chalice insists on a region even though packaging calls no AWS API.
    env.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", EDGE_REGION))
    return env


def compile_bytecode(tree: Path) -> None:
    """Write every module's bytecode beside it, in the form a read-only package needs.

    Lambda's code directory is read-only: a package without bytecode has all
    its Python (ours, and the libraries it carries) compiled anew at every cold
    start. The package never changes once built, so the bytecode is marked
    unchecked and the runtime reads it without comparing the source's time or
    hash. Tracebacks name files under Lambda's code directory.
    """
    if not compileall.compile_dir(str(tree), quiet=2, ddir="/var/task", workers=0,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
        raise SystemExit(f"some modules under {tree.name} do not compile")


def add_bytecode(package_zip: Path, runtime: str) -> None:
    """Add the bytecode of every module to the Lambda package (see `compile_bytecode`)."""
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != ours:
        raise SystemExit(f"the functions run {runtime}: package them with that Python, not {ours}")
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        with zipfile.ZipFile(package_zip) as original:
            original.extractall(tree)
            names = set(original.namelist())
        compile_bytecode(tree)
        with zipfile.ZipFile(package_zip, "a", zipfile.ZIP_DEFLATED) as package:
            for compiled in sorted(tree.rglob("*.pyc")):
                name = compiled.relative_to(tree).as_posix()
                if name not in names:
                    entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    entry.external_attr = 0o644 << 16
                    package.writestr(entry, compiled.read_bytes(), zipfile.ZIP_DEFLATED)


BABEL_LOCALES = "babel/locale-data/"


def site_languages(project_dir: Path = BACKEND) -> tuple[str, ...]:
    """English and every language with a folder of translations (chalicelib.languages' rule)."""
    locale = project_dir / "chalicelib" / "locale"
    return ("en", *sorted(p.name for p in locale.iterdir() if p.is_dir() and not p.name.startswith("_")))


def keep_babel_locales(package_zip: Path, languages: tuple[str, ...]) -> None:
    """Babel carries every CLDR locale (32 MB unpacked); the functions write dates and numbers in
    the site's languages only, and name a language in English for staff: the package keeps
    those locales and the root they inherit from."""
    keep = {f"{BABEL_LOCALES}{name}.dat" for name in ("root", *languages)}
    with zipfile.ZipFile(package_zip) as original:
        entries = [(info, original.read(info)) for info in original.infolist()
                   if not info.filename.startswith(BABEL_LOCALES) or info.filename in keep]
    with zipfile.ZipFile(package_zip, "w", zipfile.ZIP_DEFLATED) as package:
        for info, data in entries:
            package.writestr(info, data, zipfile.ZIP_DEFLATED)


def set_code_uri(template: dict, uri: str) -> None:
    """Every function of the app (the API and the notifier) runs from the one package."""
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = uri


def package(
    out_dir: Path = PACKAGE_DIR,
    site_dir: Path = SITE_DIR,
    project_dir: Path = BACKEND,
    stage: str = "aws",
) -> Path:
    """Write the deployable main template and the Lambda package to out_dir, offline."""
    if not (site_dir / "index.html").is_file():
        raise SystemExit(f"no built site in {site_dir}: run `make site` first")
    if not LAMBDA_WHEELS.is_dir():
        raise SystemExit(
            f"no cached Lambda wheels in {LAMBDA_WHEELS}: run `make package` once online"
        )
    chalice_out = out_dir / "chalice"
    shutil.rmtree(chalice_out, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(  # noqa: S603 - fixed arguments, our own tool
        [
            str(chalice),
            "package",
            "--stage",
            stage,
            "--template-format",
            "yaml",
            "--merge-template",
            str(merged_resources(out_dir)),
            str(chalice_out),
        ],
        cwd=project_dir,
        env=_lambda_build_env(),
        check=True,
    )
    template = yaml.safe_load((chalice_out / "sam.yaml").read_text(encoding="utf-8"))
    csp = template["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]["ContentSecurityPolicy"]
    csp["ContentSecurityPolicy"] = with_attachments_bucket(with_script_hashes(
        csp["ContentSecurityPolicy"], inline_script_hashes(site_dir)
    ))
    set_code_uri(template, f"./{LAMBDA_ZIP}")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(chalice_out / "deployment.zip"), out_dir / LAMBDA_ZIP)
    keep_babel_locales(out_dir / LAMBDA_ZIP, site_languages(project_dir))
    add_bytecode(out_dir / LAMBDA_ZIP, function_runtime(template))
    shutil.rmtree(chalice_out)
    main = out_dir / MAIN_TEMPLATE
    main.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return main


def function_runtime(template: dict) -> str:
    """The one Python runtime every function of the package runs on."""
    runtimes = {resource["Properties"]["Runtime"] for resource in template["Resources"].values()
                if resource.get("Type") == "AWS::Serverless::Function"}
    if len(runtimes) != 1:
        raise SystemExit(f"the functions should share one runtime, not {sorted(runtimes)}")
    return runtimes.pop()


def with_attachments_bucket(csp: str) -> dict:
    """The CSP with the attachments bucket's host allowed for the browser's file uploads."""
    host = "https://${AWS::StackName}-attachments-${AWS::AccountId}.s3.${AWS::Region}.amazonaws.com"
    return {"Fn::Sub": csp.replace("connect-src 'self'", f"connect-src 'self' {host}", 1)}


def merge(base: dict, extra: dict) -> dict:
    """`extra` merged into `base`: mappings key by key, anything else must not clash."""
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = merge(merged[name], value)
        elif name in merged and merged[name] != value:
            raise SystemExit(f"templates disagree on {name!r}")
        else:
            merged[name] = value
    return merged


def merged_resources(out_dir: Path) -> Path:
    """resources.yaml with MERGED_TEMPLATES merged in, as one JSON file for Chalice."""
    from aftercare_local.template import load

    document = load(INFRA / "resources.yaml")
    for name in MERGED_TEMPLATES:
        document = merge(document, load(INFRA / name))
    path = out_dir / "resources.merged.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


# -- Deploy ----------------------------------------------------------------------


@dataclass
class DeployOptions:
    stage: str
    backup_region: str
    region: str
    domain_name: str = ""
    certificate_arn: str = ""
    alarm_email: str = ""
    sender_address: str = ""
    backup_retention_days: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    # The account-wide AWS Backup switches for DynamoDB (see enable_backup_for_dynamodb).
    account_settings: bool = True

    @property
    def stack_name(self) -> str:
        return f"aftercare-{self.stage}"

    def check(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,20}", self.stage):
            raise SystemExit("STAGE must be lower-case letters, digits and dashes, at most 21")
        if self.backup_region == self.region:
            raise SystemExit(
                f"the backup copy must go to another region than {self.region} (BACKUP_REGION)"
            )
        if bool(self.domain_name) != bool(self.certificate_arn):
            raise SystemExit("a domain name needs a certificate (in us-east-1), and the reverse")


def deploy_stack(
    cfn, name: str, parameters: dict[str, str], *, body: str | None = None, url: str | None = None
) -> dict[str, str]:
    """Create or update one stack and wait for it; return its outputs."""
    try:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        status = None
    if status == "ROLLBACK_COMPLETE":
        raise SystemExit(f"{name} failed to create earlier; delete it, then deploy again")
    request = {
        "StackName": name,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": CAPABILITIES,
        **({"TemplateBody": body} if body is not None else {"TemplateURL": url}),
    }
    if status is None:
        cfn.create_stack(**request)
        waiter = "stack_create_complete"
    else:
        try:
            cfn.update_stack(**request)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            return stack_outputs(cfn, name)
        waiter = "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    except WaiterError as error:
        raise SystemExit(f"{name}: {error}; see the stack's events") from None
    return stack_outputs(cfn, name)


def stack_outputs(cfn, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def enable_backup_for_dynamodb(session: boto3.Session, region: str) -> None:
    """Opt the region into AWS Backup for DynamoDB with its advanced features.

    Cross-region copies of DynamoDB backups need these account-level settings;
    CloudFormation has no resource for them, so the deploy sets them (idempotent).
    """
    session.client("backup", region_name=region).update_region_settings(
        ResourceTypeOptInPreference={"DynamoDB": True},
        ResourceTypeManagementPreference={"DynamoDB": True},
    )


def _content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if path.suffix in {".html", ".css", ".js", ".json", ".xml", ".txt", ".svg"}:
        return f"{guessed or 'text/plain'}; charset=utf-8"
    return guessed or "application/octet-stream"


def upload_site(s3, bucket: str, site_dir: Path) -> list[str]:
    """Make the bucket hold exactly the built site; return the keys written."""
    keys = []
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        key = path.relative_to(site_dir).as_posix()
        # Pages change in place; Material's assets carry a content hash in their names.
        fingerprinted = key.startswith("assets/") and re.search(r"\.[0-9a-f]{8}\.min\.", key)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=_content_type(path),
            CacheControl="public, max-age=31536000, immutable"
            if fingerprinted
            else "public, max-age=300",
        )
        keys.append(key)
    wanted = set(keys)
    stale = [
        {"Key": obj["Key"]}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
        if obj["Key"] not in wanted
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
    return keys


def _upload_artefact(s3, bucket: str, prefix: str, path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    key = f"{prefix}/{digest}-{path.name}"
    s3.upload_file(str(path), bucket, key)
    return key


def deploy(
    options: DeployOptions,
    package_dir: Path = PACKAGE_DIR,
    site_dir: Path = SITE_DIR,
    templates_dir: Path = INFRA,
):
    """Deploy the side stacks, then the main stack, then the site. Return the main outputs."""
    options.check()
    session = boto3.Session(region_name=options.region)
    name = options.stack_name
    cfn = session.client("cloudformation")
    s3 = session.client("s3")

    if options.account_settings:
        enable_backup_for_dynamodb(session, options.region)

    artefacts = deploy_stack(
        cfn, f"{name}-artifacts", {}, body=_read(templates_dir / "artifacts.yaml")
    )
    edge = deploy_stack(
        session.client("cloudformation", region_name=EDGE_REGION),
        f"{name}-edge",
        {},
        body=_read(templates_dir / "edge.yaml"),
    )
    offsite = deploy_stack(
        session.client("cloudformation", region_name=options.backup_region),
        f"{name}-offsite",
        {},
        body=_read(templates_dir / "offsite.yaml"),
    )

    bucket = artefacts["ArtifactsBucketName"]
    code_key = _upload_artefact(s3, bucket, name, package_dir / LAMBDA_ZIP)
    template = yaml.safe_load(_read(package_dir / MAIN_TEMPLATE))
    set_code_uri(template, f"s3://{bucket}/{code_key}")
    deployable = package_dir / f"{name}.yaml"
    deployable.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    template_key = _upload_artefact(s3, bucket, name, deployable)
    # CloudFormation reads the template with the caller's own credentials.
    template_url = f"https://{bucket}.s3.{options.region}.amazonaws.com/{template_key}"

    parameters = {
        "WebAclArn": edge["WebAclArn"],
        "ConsoleBodyHashArn": edge["ConsoleBodyHashVersionArn"],
        "BackupCopyVaultArn": offsite["BackupVaultArn"],
        "DomainName": options.domain_name,
        "CertificateArn": options.certificate_arn,
        "AlarmEmail": options.alarm_email,
        "SenderAddress": options.sender_address,
        **options.parameters,
    }
    if options.backup_retention_days is not None:
        parameters["BackupRetentionDays"] = str(options.backup_retention_days)
    parameters.setdefault("ConsoleSiteUrl", console_site_url(options, existing_outputs(cfn, name)))
    outputs = deploy_stack(cfn, name, parameters, url=template_url)
    if parameters["ConsoleSiteUrl"] != console_site_url(options, outputs):
        # The first deploy of a stack without a custom domain: only now is the
        # distribution's name known, and the console and its sign-in need it.
        parameters["ConsoleSiteUrl"] = console_site_url(options, outputs)
        outputs = deploy_stack(cfn, name, parameters, url=template_url)

    upload_site(s3, outputs["SiteBucketName"], site_dir)
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["SiteDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"{name}-{int(time.time())}",
        },
    )
    return outputs


def existing_outputs(cfn, name: str) -> dict[str, str]:
    """The outputs of the stack as it stands, or none before its first deploy."""
    try:
        return stack_outputs(cfn, name)
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        return {}


def console_site_url(options: DeployOptions, outputs: dict[str, str]) -> str:
    """The main stack's ConsoleSiteUrl: the site's CloudFront origin, once known.

    With a custom domain the stack names the site itself and ignores it. Without
    one, the console (and its sign-in client) cannot name the distribution in
    the template, since the distribution names the console's function URL.
    """
    if options.domain_name:
        return ""
    return outputs.get("SiteUrl", "").rstrip("/")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- Command line ------------------------------------------------------------------


def stack_parameters(pairs: list[str]) -> dict[str, str]:
    """`Name=Value` pairs as the main stack's parameters; a malformed one stops the deploy."""
    parameters = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z0-9]+", name):
            raise SystemExit(f"--parameter wants NAME=VALUE, not {pair!r}")
        parameters[name] = value
    return parameters


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("package", help="write build/infra/ (offline)")
    run = commands.add_parser("deploy", help="package, deploy the stacks, upload the site")
    run.add_argument("--stage", required=True)
    run.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="the main region (default: AWS_REGION)",
    )
    run.add_argument("--backup-region", required=True, help="second region for backup copies")
    run.add_argument("--domain-name", default="")
    run.add_argument("--certificate-arn", default="")
    run.add_argument("--alarm-email", default="")
    run.add_argument("--sender-address", default="",
                     help="the address emails come from (its domain is verified in SES); required")
    run.add_argument("--backup-retention-days", type=int)
    run.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE",
        help="another main-stack parameter, e.g. StaffRequiresMfa=false (repeatable)",
    )
    args = parser.parse_args(argv)
    parameters = stack_parameters(getattr(args, "parameter", []))
    if args.command == "deploy" and not args.sender_address:
        raise SystemExit("set SENDER (or pass --sender-address): the address emails come from")

    package()
    if args.command == "deploy":
        if not args.region:
            raise SystemExit("set AWS_REGION (or pass --region)")
        outputs = deploy(
            DeployOptions(
                stage=args.stage,
                region=args.region,
                backup_region=args.backup_region,
                domain_name=args.domain_name,
                certificate_arn=args.certificate_arn,
                alarm_email=args.alarm_email,
                sender_address=args.sender_address,
                backup_retention_days=args.backup_retention_days,
                parameters=parameters,
            )
        )
        for key, value in sorted(outputs.items()):
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
