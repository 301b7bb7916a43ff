"""Fapiao settings, read from the environment (see README.md, "Configuration").

Every variable is parsed strictly: a value that cannot be understood stops the start with a message.
"""

import datetime
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from fapiao.env import Env, secret_key_from_file

env = Env()

PACKAGE_DIR = Path(__file__).resolve().parent
# Everything the running platform writes (database, secret key, uploads, mail outbox) lives here.
VAR_DIR = env.path("FAPIAO_VAR_DIR", Path.cwd() / "var")

DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY") or secret_key_from_file(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is empty: name at least one host, e.g. fapiao.example.com."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in ("http", "https") or not urlsplit(SITE_URL).hostname:
    raise ImproperlyConfigured(
        f"SITE_URL={SITE_URL!r} must be an address like https://fapiao.example.com."
    )

INSTALLED_APPS = [
    "fapiao.core",
    "fapiao.accounts",
    "fapiao.invoices",
    "fapiao.audit",
    "fapiao.verification",
    "fapiao.imports",
    "fapiao.stats",
    "fapiao.notices",
    "fapiao.recovery",
    "fapiao.finder",
    "fapiao.reconcile",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "axes",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fapiao.audit.context.RequestMetaMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fapiao.accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "fapiao.accounts.middleware.CurrentOrganizationMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fapiao.urls"
WSGI_APPLICATION = "fapiao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fapiao.core.context_processors.shell",
                "fapiao.accounts.context_processors.password_reminder",
            ],
        },
    }
]


# Database -------------------------------------------------------------------------------------
def _database(url: str) -> dict:
    scheme = urlsplit(url).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/NAME."
        )
    try:
        config = dj_database_url.parse(url)
        urlsplit(url).port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be read: {exc}.") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL must name the database, e.g. .../fapiao.")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] in ("", ":memory:"):
            raise ImproperlyConfigured(
                "DATABASE_URL must name an SQLite file, e.g. sqlite:///var/fapiao.sqlite3."
            )
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at the
            # start of a transaction so two writers queue instead of failing mid-way.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file, not memory, for tests too: concurrency tests need real WAL locking.
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_suffix(".test.sqlite3"))}
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASE_URL = env.str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'fapiao.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background tasks -------------------------------------------------------------------------------
TASK_BACKEND = env.choice("FAPIAO_TASK_BACKEND", "database", ("database", "rq", "immediate"))
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/0")
if urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix") or not (
    urlsplit(REDIS_URL).hostname or urlsplit(REDIS_URL).path
):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must look like redis://HOST:6379/0.")
if TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
else:
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# Accounts ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name", "mobile")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "fapiao.accounts.passwords.CharacterClassValidator", "OPTIONS": {"classes": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Remind users to change a password older than this many days (0: never).
FAPIAO_PASSWORD_MAX_AGE_DAYS = env.int("FAPIAO_PASSWORD_MAX_AGE_DAYS", 180, minimum=0)

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "fapiao.accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "fapiao.accounts.forms.RegistrationForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None  # the user chooses ("记住我")
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_PASSWORD_RESET_TIMEOUT = 60 * 60  # reset links expire after an hour
ACCOUNT_RATE_LIMITS = {
    "confirm_email": "1/3m/key",  # resending the verification email
    "reset_password": "5/m/ip,3/5m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    # Sign-ins from one address (an office behind one NAT shares it), allauth's default.
    "login": env.str("FAPIAO_LOGIN_RATE", "30/m/ip"),
    "login_failed": None,  # django-axes locks out (per account and per IP), with its own page
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "【发票平台】"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "发票平台 Fapiao"
# Tracking "last seen" writes to the database on every request; sessions are listed without it.
USERSESSIONS_TRACK_ACTIVITY = False

# Lockout (django-axes): per account and, separately, per IP address.
AXES_FAILURE_LIMIT = env.int("FAPIAO_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("FAPIAO_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "fapiao.accounts.lockout.username_from_request"
AXES_LOCKOUT_CALLABLE = "fapiao.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

SMS_BACKEND = env.str("FAPIAO_SMS", "file")  # file, console, or a dotted path to a sender class
if SMS_BACKEND not in ("file", "console") and "." not in SMS_BACKEND:
    raise ImproperlyConfigured(
        f"FAPIAO_SMS={SMS_BACKEND!r}: use file, console or a dotted path to a sender class."
    )
SMS_FILE_PATH = str(env.path("FAPIAO_SMS_DIR", VAR_DIR / "sms"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Email ------------------------------------------------------------------------------------------
EMAIL_KIND = env.choice("FAPIAO_EMAIL", "file", ("file", "console", "smtp"))
_smtp_only = [n for n in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER") if env.raw(n) is not None]
if _smtp_only and EMAIL_KIND != "smtp":
    raise ImproperlyConfigured(
        f"{', '.join(_smtp_only)} set, but FAPIAO_EMAIL={EMAIL_KIND}: set FAPIAO_EMAIL=smtp to "
        "send mail through that server."
    )
if EMAIL_KIND == "smtp":
    _email_tls, _email_ssl = env.bool("EMAIL_USE_TLS", False), env.bool("EMAIL_USE_SSL", False)
    if _email_tls and _email_ssl:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env.str("EMAIL_HOST", "localhost"),
            "port": env.int(
                "EMAIL_PORT",
                465 if _email_ssl else 587 if _email_tls else 25,
                minimum=1,
                maximum=65535,
            ),
            "username": env.str("EMAIL_HOST_USER"),
            "password": env.str("EMAIL_HOST_PASSWORD"),
            "use_tls": _email_tls,
            "use_ssl": _email_ssl,
            "timeout": env.int("EMAIL_TIMEOUT", 20, minimum=1),
        },
    }
elif EMAIL_KIND == "file":
    _mailer = {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(env.path("FAPIAO_MAIL_DIR", VAR_DIR / "mail"))},
    }
else:
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "发票平台 <noreply@fapiao.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Files ------------------------------------------------------------------------------------------
MEDIA_ROOT = str(env.path("FAPIAO_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = str(env.path("FAPIAO_STATIC_ROOT", VAR_DIR / "static"))
# whitenoise expects the folder to exist, even before the first collectstatic.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("FAPIAO_STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Language and time ------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Logging ----------------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
