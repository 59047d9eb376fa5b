"""Sign-in and password forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1000)])
    new_password = PasswordField("New password (12+ characters)", validators=[DataRequired(), Length(max=1000)])
    confirm_password = PasswordField("New password again", validators=[DataRequired(), Length(max=1000)])
