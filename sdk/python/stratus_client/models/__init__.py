"""Contains all the data models used in inputs/outputs"""

from .api_key import ApiKey
from .audio_form import AudioForm
from .audio_job import AudioJob
from .audio_job_error import AudioJobError
from .audio_job_form import AudioJobForm
from .audio_job_list import AudioJobList
from .audio_job_status import AudioJobStatus
from .audio_job_task import AudioJobTask
from .audio_usage import AudioUsage
from .audio_webhook_secret import AudioWebhookSecret
from .budget_body import BudgetBody
from .budget_view import BudgetView
from .candidate import Candidate
from .classify_request import ClassifyRequest
from .classify_response import ClassifyResponse
from .component_state_type_0 import ComponentStateType0
from .component_state_type_0_status import ComponentStateType0Status
from .component_state_type_1 import ComponentStateType1
from .component_state_type_1_status import ComponentStateType1Status
from .component_state_type_2 import ComponentStateType2
from .component_state_type_2_status import ComponentStateType2Status
from .create_key import CreateKey
from .create_tenant import CreateTenant
from .create_user import CreateUser
from .created_api_key import CreatedApiKey
from .detect_request import DetectRequest
from .detect_response import DetectResponse
from .document_error import DocumentError
from .document_input_type_1 import DocumentInputType1
from .document_result_classification_type_0 import DocumentResultClassificationType0
from .document_result_classification_type_1 import DocumentResultClassificationType1
from .document_result_detection_type_0 import DocumentResultDetectionType0
from .document_result_detection_type_1 import DocumentResultDetectionType1
from .document_result_document_sentiment_type_0 import DocumentResultDocumentSentimentType0
from .document_result_document_sentiment_type_1 import DocumentResultDocumentSentimentType1
from .document_result_entities_type_0 import DocumentResultEntitiesType0
from .document_result_entities_type_1 import DocumentResultEntitiesType1
from .document_result_key_phrases_type_0 import DocumentResultKeyPhrasesType0
from .document_result_key_phrases_type_1 import DocumentResultKeyPhrasesType1
from .document_result_summary_type_0 import DocumentResultSummaryType0
from .document_result_summary_type_1 import DocumentResultSummaryType1
from .document_usage import DocumentUsage
from .embedding_item import EmbeddingItem
from .embeddings_request import EmbeddingsRequest
from .embeddings_response import EmbeddingsResponse
from .embeddings_usage import EmbeddingsUsage
from .encoding_format import EncodingFormat
from .entities_response import EntitiesResponse
from .entity import Entity
from .error_body import ErrorBody
from .error_envelope import ErrorEnvelope
from .healthz_response_200 import HealthzResponse200
from .invoice import Invoice
from .invoice_list import InvoiceList
from .key_budget_body import KeyBudgetBody
from .key_budget_view import KeyBudgetView
from .key_phrases_request import KeyPhrasesRequest
from .key_phrases_response import KeyPhrasesResponse
from .label_input_type_1 import LabelInputType1
from .label_score import LabelScore
from .limit_spec import LimitSpec
from .limits_view import LimitsView
from .line import Line
from .list_api_key import ListApiKey
from .list_api_key_data_item import ListApiKeyDataItem
from .list_tenant import ListTenant
from .list_tenant_data_item import ListTenantDataItem
from .list_user import ListUser
from .list_user_data_item import ListUserDataItem
from .login_request import LoginRequest
from .login_response import LoginResponse
from .me import Me
from .model import Model
from .model_list import ModelList
from .not_ready_body import NotReadyBody
from .not_ready_body_components import NotReadyBodyComponents
from .phrase import Phrase
from .pii_request import PiiRequest
from .plan_body import PlanBody
from .readyz_response_200 import ReadyzResponse200
from .redaction_mode import RedactionMode
from .response_format_name import ResponseFormatName
from .role import Role
from .rotate_audio_webhook_secret import RotateAudioWebhookSecret
from .scope import Scope
from .sentence_sentiment import SentenceSentiment
from .sentiment_label import SentimentLabel
from .sentiment_request import SentimentRequest
from .sentiment_response import SentimentResponse
from .sentiment_scores import SentimentScores
from .summarize_request import SummarizeRequest
from .summarize_response import SummarizeResponse
from .summary_mode import SummaryMode
from .summary_sentence import SummarySentence
from .tenant import Tenant
from .timestamp_granularity import TimestampGranularity
from .transcription import Transcription
from .transcription_segment import TranscriptionSegment
from .transcription_stream_event_type_0 import TranscriptionStreamEventType0
from .transcription_stream_event_type_0_type import TranscriptionStreamEventType0Type
from .transcription_stream_event_type_1 import TranscriptionStreamEventType1
from .transcription_stream_event_type_1_type import TranscriptionStreamEventType1Type
from .transcription_stream_event_type_2 import TranscriptionStreamEventType2
from .transcription_stream_event_type_2_type import TranscriptionStreamEventType2Type
from .transcription_verbose import TranscriptionVerbose
from .transcription_word import TranscriptionWord
from .update_user import UpdateUser
from .usage import Usage
from .usage_bucket import UsageBucket
from .usage_event import UsageEvent
from .usage_units import UsageUnits
from .user import User

__all__ = (
    "ApiKey",
    "AudioForm",
    "AudioJob",
    "AudioJobError",
    "AudioJobForm",
    "AudioJobList",
    "AudioJobStatus",
    "AudioJobTask",
    "AudioUsage",
    "AudioWebhookSecret",
    "BudgetBody",
    "BudgetView",
    "Candidate",
    "ClassifyRequest",
    "ClassifyResponse",
    "ComponentStateType0",
    "ComponentStateType0Status",
    "ComponentStateType1",
    "ComponentStateType1Status",
    "ComponentStateType2",
    "ComponentStateType2Status",
    "CreatedApiKey",
    "CreateKey",
    "CreateTenant",
    "CreateUser",
    "DetectRequest",
    "DetectResponse",
    "DocumentError",
    "DocumentInputType1",
    "DocumentResultClassificationType0",
    "DocumentResultClassificationType1",
    "DocumentResultDetectionType0",
    "DocumentResultDetectionType1",
    "DocumentResultDocumentSentimentType0",
    "DocumentResultDocumentSentimentType1",
    "DocumentResultEntitiesType0",
    "DocumentResultEntitiesType1",
    "DocumentResultKeyPhrasesType0",
    "DocumentResultKeyPhrasesType1",
    "DocumentResultSummaryType0",
    "DocumentResultSummaryType1",
    "DocumentUsage",
    "EmbeddingItem",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "EncodingFormat",
    "EntitiesResponse",
    "Entity",
    "ErrorBody",
    "ErrorEnvelope",
    "HealthzResponse200",
    "Invoice",
    "InvoiceList",
    "KeyBudgetBody",
    "KeyBudgetView",
    "KeyPhrasesRequest",
    "KeyPhrasesResponse",
    "LabelInputType1",
    "LabelScore",
    "LimitSpec",
    "LimitsView",
    "Line",
    "ListApiKey",
    "ListApiKeyDataItem",
    "ListTenant",
    "ListTenantDataItem",
    "ListUser",
    "ListUserDataItem",
    "LoginRequest",
    "LoginResponse",
    "Me",
    "Model",
    "ModelList",
    "NotReadyBody",
    "NotReadyBodyComponents",
    "Phrase",
    "PiiRequest",
    "PlanBody",
    "ReadyzResponse200",
    "RedactionMode",
    "ResponseFormatName",
    "Role",
    "RotateAudioWebhookSecret",
    "Scope",
    "SentenceSentiment",
    "SentimentLabel",
    "SentimentRequest",
    "SentimentResponse",
    "SentimentScores",
    "SummarizeRequest",
    "SummarizeResponse",
    "SummaryMode",
    "SummarySentence",
    "Tenant",
    "TimestampGranularity",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionStreamEventType0",
    "TranscriptionStreamEventType0Type",
    "TranscriptionStreamEventType1",
    "TranscriptionStreamEventType1Type",
    "TranscriptionStreamEventType2",
    "TranscriptionStreamEventType2Type",
    "TranscriptionVerbose",
    "TranscriptionWord",
    "UpdateUser",
    "Usage",
    "UsageBucket",
    "UsageEvent",
    "UsageUnits",
    "User",
)
